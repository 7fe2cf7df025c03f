/* Times the f32 GEMM with transposes (zp_f32_gemm_t, kernels/kernels.h) against
 * OpenBLAS cblas_sgemm on the matrix products of the Fashion MobileNet's backward
 * (configs/train_mobilenet.json: per image dcol = W^T dy and dW += dy col^T of each
 * Conv, per chunk of 8 images the two products of the Gemm). One thread, thread
 * CPU time (the machine may be shared), the two interleaved A B A B over 5 rounds.
 * Not a test. Build from the repository root after `make`:
 *   gcc -O2 -fopenmp -I. scripts/bench_gemm_t.c build/release/libzp.a -lopenblas -lm -o /tmp/bench_gemm_t */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kernels/kernels.h"
static double cpu(void);
static double cpu(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(void);
int main(void){
  openblas_set_num_threads(1);
  printf("openblas core %s\n", openblas_get_corename());
  const struct zp_gemm_ukernel *uk = zp_gemm_select(ZP_KF_F32,-1);
  printf("variant %s\n", uk->name);
  static const int sh[][6]={ /* ta tb m n k beta */
   {1,0,9,784,16,0},{0,1,16,9,784,1},
   {1,0,16,784,32,1},{0,1,32,16,784,1},
   {1,0,32,196,64,1},{0,1,64,32,196,1},
   {1,0,64,196,64,1},{0,1,64,64,196,1},
   {1,0,64,49,128,1},{0,1,128,64,49,1},
   {1,0,128,49,128,1},{0,1,128,128,49,1},
   {0,0,8,128,10,1},{1,0,10,128,8,0}};
  const int ns=sizeof sh/sizeof sh[0], ROUNDS=5;
  double tot[2]={0,0};
  for(int s=0;s<ns;s++){
    int ta=sh[s][0],tb=sh[s][1],m=sh[s][2],n=sh[s][3],k=sh[s][4]; float beta=(float)sh[s][5];
    size_t lda=ta?m:k, ldb=tb?k:n;
    float *a=malloc(sizeof(float)*m*k),*b=malloc(sizeof(float)*k*n),*c=calloc((size_t)m*n,4);
    for(int i=0;i<m*k;i++)a[i]=(float)rand()/RAND_MAX-.5f;
    for(int i=0;i<k*n;i++)b[i]=(float)rand()/RAND_MAX-.5f;
    struct zp_f32_gemm_t_call cl={.ta=ta,.tb=tb,.m=m,.n=n,.k=k,.alpha=1,.beta=beta,.a=a,.lda=lda,.b=b,.ldb=ldb,.c=c,.ldc=n,.threads=1};
    float *ws=aligned_alloc(64,(zp_f32_gemm_t_ws(&cl)*4+63)/64*64); cl.ws=ws;
    double flop=2.0*m*n*k; int reps=(int)(2e7/flop)+1;
    double t[2]={0,0};
    for(int r=0;r<ROUNDS;r++){
      double t0=cpu(); for(int i=0;i<reps;i++) zp_f32_gemm_t(uk,&cl,NULL); t[0]+=cpu()-t0;
      t0=cpu(); for(int i=0;i<reps;i++) cblas_sgemm(CblasRowMajor,ta?CblasTrans:CblasNoTrans,tb?CblasTrans:CblasNoTrans,m,n,k,1,a,lda,b,ldb,beta,c,n); t[1]+=cpu()-t0;
    }
    double per[2]={t[0]/(reps*ROUNDS),t[1]/(reps*ROUNDS)};
    tot[0]+=per[0]; tot[1]+=per[1];
    printf("ta%d tb%d m%4d n%4d k%4d beta%g: ours %7.2f us %6.1f GF/s, openblas %7.2f us %6.1f GF/s, openblas/ours time %.2f\n",ta,tb,m,n,k,beta,per[0]*1e6,flop/per[0]*1e-9,per[1]*1e6,flop/per[1]*1e-9,per[1]/per[0]);
    free(a);free(b);free(c);free(ws);
  }
  printf("sum over shapes (one call each): ours %.1f us, openblas %.1f us, openblas/ours %.2f\n",tot[0]*1e6,tot[1]*1e6,tot[1]/tot[0]);
}
